/**
 * The fixed vocabulary the demo sales database is drawn from: categories with their price
 * ranges and seasonal peaks, product names, places and people's names. Only the choices
 * among them are random (seeded), so questions like "sales by category" have stable,
 * plausible answers.
 */

export interface CategorySpec {
  name: string;
  description: string;
  /** List price range of the category's products, in the store's currency. */
  price: [number, number];
  /** Months (1-12) in which the category sells noticeably more. */
  peakMonths: number[];
  products: string[];
}

export const CATEGORIES: CategorySpec[] = [
  { name: "Electronics", description: "Phones, tablets, headphones and accessories", price: [29, 899], peakMonths: [11, 12], products: ["Wireless Earbuds", "Noise-Cancelling Headphones", "Bluetooth Speaker", "Smartwatch", "Tablet 10-inch", "Phone Charger", "Power Bank", "USB-C Hub", "E-Reader", "Action Camera", "Fitness Tracker", "Smart Plug", "Portable Monitor"] },
  { name: "Computers", description: "Laptops, monitors and computer peripherals", price: [19, 1499], peakMonths: [8, 9, 11], products: ["Ultrabook 14-inch", "Gaming Laptop", "27-inch Monitor", "Mechanical Keyboard", "Wireless Mouse", "Webcam HD", "External SSD 1TB", "Laptop Stand", "Docking Station", "Desk Microphone", "Graphics Tablet", "Wi-Fi Router"] },
  { name: "Home & Kitchen", description: "Cookware, small appliances and home goods", price: [12, 349], peakMonths: [11, 12], products: ["Espresso Machine", "Chef's Knife", "Cast Iron Skillet", "Air Fryer", "Blender", "Electric Kettle", "Coffee Grinder", "Stand Mixer", "Food Storage Set", "Toaster", "Rice Cooker", "Dutch Oven", "Cutting Board"] },
  { name: "Furniture", description: "Furniture for the home and the office", price: [45, 899], peakMonths: [3, 4, 9], products: ["Office Chair", "Standing Desk", "Bookshelf", "Sofa Bed", "Dining Table", "Bedside Table", "Floor Lamp", "Bar Stool", "TV Stand", "Wardrobe", "Accent Chair", "Shoe Rack"] },
  { name: "Clothing", description: "Clothing for women, men and children", price: [9, 189], peakMonths: [3, 9, 10, 11], products: ["Denim Jacket", "Wool Sweater", "Cotton T-Shirt", "Rain Jacket", "Chino Trousers", "Linen Shirt", "Hoodie", "Winter Coat", "Summer Dress", "Fleece Vest", "Pyjama Set", "Puffer Jacket", "Polo Shirt"] },
  { name: "Shoes", description: "Footwear for everyday and sport", price: [25, 220], peakMonths: [3, 4, 9], products: ["Running Shoes", "Leather Boots", "Canvas Sneakers", "Hiking Boots", "Sandals", "Slippers", "Trail Runners", "Loafers", "Rain Boots", "Court Shoes", "Football Boots", "Walking Shoes"] },
  { name: "Sports & Outdoors", description: "Equipment for sport, camping and the outdoors", price: [8, 649], peakMonths: [5, 6, 7], products: ["Yoga Mat", "Camping Tent", "Sleeping Bag", "Mountain Bike", "Dumbbell Set", "Water Bottle", "Trekking Poles", "Kayak Paddle", "Climbing Harness", "Tennis Racket", "Cycling Helmet", "Resistance Bands", "Foam Roller"] },
  { name: "Beauty", description: "Skin care, hair care and fragrance", price: [6, 129], peakMonths: [2, 5, 12], products: ["Face Moisturiser", "Vitamin C Serum", "Shampoo", "Conditioner", "Sunscreen SPF 50", "Eau de Parfum", "Hair Dryer", "Lip Balm", "Body Lotion", "Face Cleanser", "Beard Oil", "Night Cream"] },
  { name: "Books", description: "Printed books: fiction, non-fiction and cookbooks", price: [7, 59], peakMonths: [7, 8, 12], products: ["Mystery Novel", "Cookbook: Everyday Italian", "Science Fiction Anthology", "History of the Sea", "Children's Picture Book", "Travel Guide: Japan", "Poetry Collection", "Business Strategy", "Fantasy Saga Vol. 1", "Gardening Handbook", "Biography of a Scientist", "Learn Python"] },
  { name: "Toys & Games", description: "Toys, board games and puzzles", price: [9, 149], peakMonths: [11, 12], products: ["Building Blocks Set", "Strategy Board Game", "1000-Piece Puzzle", "Remote Control Car", "Plush Bear", "Card Game", "Wooden Train Set", "Science Kit", "Doll House", "Drone for Kids", "Art Set", "Marble Run"] },
  { name: "Grocery", description: "Coffee, tea and pantry staples", price: [3, 39], peakMonths: [1, 10, 11, 12], products: ["Arabica Coffee Beans", "Green Tea", "Olive Oil", "Dark Chocolate", "Maple Syrup", "Pasta Variety Pack", "Granola", "Honey", "Spice Set", "Sparkling Water 12-Pack", "Almonds", "Hot Sauce"] },
  { name: "Garden", description: "Tools, plants and outdoor living", price: [5, 499], peakMonths: [4, 5, 6], products: ["Garden Hose", "Pruning Shears", "Raised Planter", "Lawn Mower", "Patio Chair", "Solar Lights", "Seed Starter Kit", "Watering Can", "Barbecue Grill", "Compost Bin", "Hammock", "Bird Feeder"] },
];

export interface CountrySpec {
  name: string;
  code: string;
  /** Share of customers (unnormalised). */
  weight: number;
  cities: string[];
}

export const COUNTRIES: CountrySpec[] = [
  { name: "United States", code: "US", weight: 30, cities: ["New York", "Los Angeles", "Chicago", "Austin", "Seattle", "Boston"] },
  { name: "United Kingdom", code: "GB", weight: 14, cities: ["London", "Manchester", "Edinburgh", "Bristol"] },
  { name: "Germany", code: "DE", weight: 13, cities: ["Berlin", "Munich", "Hamburg", "Cologne"] },
  { name: "France", code: "FR", weight: 10, cities: ["Paris", "Lyon", "Marseille", "Toulouse"] },
  { name: "Canada", code: "CA", weight: 8, cities: ["Toronto", "Vancouver", "Montreal"] },
  { name: "Spain", code: "ES", weight: 6, cities: ["Madrid", "Barcelona", "Valencia"] },
  { name: "Netherlands", code: "NL", weight: 6, cities: ["Amsterdam", "Rotterdam", "Utrecht"] },
  { name: "Australia", code: "AU", weight: 5, cities: ["Sydney", "Melbourne", "Brisbane"] },
  { name: "Japan", code: "JP", weight: 4, cities: ["Tokyo", "Osaka"] },
  { name: "Brazil", code: "BR", weight: 4, cities: ["São Paulo", "Rio de Janeiro"] },
];

export const FIRST_NAMES = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Sophia", "Mateo", "Mia", "Elijah", "Amelia", "Hugo", "Isabella", "Leon", "Chloe", "Finn", "Hannah", "Arjun", "Yuki", "Sofia", "Ethan", "Lea", "Omar", "Grace", "Jonas", "Clara", "Diego", "Maya", "Felix", "Zoe", "Samuel", "Nora", "Kenji", "Ines", "Oscar", "Ella", "Ravi", "Lina", "Theo", "Alice"];

export const LAST_NAMES = ["Smith", "Johnson", "Müller", "Martin", "Brown", "García", "Schmidt", "Dubois", "Wilson", "Rossi", "Tanaka", "Silva", "Taylor", "Novak", "Jansen", "Fischer", "Lopez", "Moreau", "Clarke", "Weber", "Anderson", "Bernard", "Kowalski", "Nguyen", "Patel", "Santos", "Murphy", "Suzuki", "Berg", "Costa"];

/** How customers buy: share of orders per channel. */
export const CHANNELS: Array<{ name: string; weight: number }> = [
  { name: "web", weight: 55 },
  { name: "mobile", weight: 35 },
  { name: "marketplace", weight: 10 },
];

export const ORDER_STATUSES = ["pending", "processing", "shipped", "completed", "cancelled", "refunded"] as const;
export const CUSTOMER_SEGMENTS = ["consumer", "small_business", "corporate"] as const;
